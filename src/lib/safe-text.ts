import { z } from "@hono/zod-openapi";

/**
 * Text a user controls (their name, a business name, a voucher title, order notes) ends up in
 * messages the operator sends to other people. It must not be able to carry a link ("Your bank:
 * account locked, verify at https://evil.example") or control and bidirectional characters that
 * reorder or hide what the reader sees. Names are refused at input; free text is cleaned when a
 * message is built from it (it may predate these rules).
 */

/** Control (Cc) and format (Cf: bidi overrides and isolates, zero-width, BOM) characters, and line/paragraph separators. */
const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
/** A scheme ("https://", "mailto:"), "www.", or anything shaped like a domain ("evil.example/login", "bit.ly"). */
const LINK = /(?:\b[a-z][a-z0-9+.-]*:\/\/\S*|\b(?:mailto|tel|sms|whatsapp|tg):\S*|\bwww\.\S*|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b\S*)/giu;

export const hasUnsafeChars = (text: string) => new RegExp(UNSAFE_CHARS.source, "u").test(text);
export const hasLink = (text: string) => new RegExp(LINK.source, "iu").test(text);

/** A person's or business's name: no links, no control or direction characters, at most `max` characters. */
export function SafeName(max: number) {
  return z
    .string()
    .trim()
    .max(max)
    .refine((v) => !hasUnsafeChars(v), "may not contain control or text-direction characters")
    .refine((v) => !hasLink(v), "may not contain links or web addresses");
}

/**
 * User text as it may appear inside a system message: unsafe characters dropped, links replaced,
 * whitespace collapsed, cut to `max` characters.
 */
export function renderUserText(text: string | null | undefined, max = 80): string {
  const cleaned = (text ?? "")
    .replace(UNSAFE_CHARS, " ")
    .replace(LINK, "[link removed]")
    .replace(/\s+/g, " ")
    .trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1).trimEnd()}…` : cleaned;
}
