import { z } from "@hono/zod-openapi";
import { MAX_SHARE_NUMBERS } from "./gift-cards.share";

export const ShareParams = z.object({
  id: z.coerce.number().int().positive().openapi({ description: "Your purchase (redemption) id; a voucher id works if you hold one active purchase of it" }),
});

export const ShareBody = z
  .strictObject({
    phone_numbers: z.array(z.string().max(40)).min(1).max(MAX_SHARE_NUMBERS).openapi({ example: ["+919876543210"] }),
    default_country_code: z.string().regex(/^\d{1,4}$/).optional().openapi({ description: "For numbers written without +CC, e.g. \"91\"" }),
  })
  .openapi("ShareGiftCardRequest");

export const ShareResponse = z
  .object({
    message: z.string(),
    success_count: z.number().int(),
    failed_numbers: z.array(z.string()),
    shares_created: z.array(z.object({ phone_number: z.string(), claim_reference: z.string(), share_id: z.number().int() })),
    max_shares: z.number().int().openapi({ description: "How many people this purchase may be shared to in all (frozen at purchase)" }),
    shares_remaining: z.number().int().openapi({ description: "How many more people it may still be shared to" }),
    note: z.string(),
  })
  .openapi("ShareGiftCardResponse");

export const ClaimBody = z
  .strictObject({ claim_reference: z.string().trim().min(1).max(40).openapi({ example: "GFT-12345678" }) })
  .openapi("ClaimGiftCardRequest");

export const ClaimResponse = z
  .object({
    message: z.string(),
    gift_card_details: z.object({
      id: z.number().int(),
      title: z.string(),
      merchant: z.string(),
      voucher_type: z.string(),
      voucher_value: z.string(),
      expiry_date: z.string(),
      purchase_reference: z.string(),
      claim_reference: z.string(),
    }),
    redemption_instructions: z.string(),
  })
  .openapi("ClaimGiftCardResponse");

export const MyGiftCards = z
  .object({
    gift_cards: z.array(
      z.object({
        id: z.number().int(),
        title: z.string(),
        merchant: z.string(),
        voucher_type: z.string(),
        voucher_value: z.string(),
        purchased_at: z.string(),
        expiry_date: z.string(),
        purchase_reference: z.string(),
        purchase_status: z.string(),
        can_redeem: z.boolean(),
        remaining_redemptions: z.number().int(),
      }),
    ),
    total_count: z.number().int(),
    message: z.string(),
  })
  .openapi("MyGiftCards");

export const SharedByMe = z
  .object({
    shares: z.array(
      z.object({
        share_id: z.number().int(),
        recipient_phone: z.string(),
        recipient_name: z.string().nullable(),
        voucher_title: z.string(),
        shared_via: z.string(),
        shared_at: z.string(),
        is_claimed: z.boolean(),
        claimed_at: z.string().nullable(),
        claim_reference: z.string(),
      }),
    ),
    total_count: z.number().int(),
    message: z.string(),
  })
  .openapi("GiftCardsSharedByMe");
