import type { Env } from "../../../env";
import { resendEmail } from "./email-resend";
import type { Channel, Provider } from "./provider";
import { sandbox } from "./sandbox";
import { telegram } from "./telegram";
import { whatsappCloud } from "./whatsapp-cloud";

/** The real provider when the channel's secrets are set, otherwise the sandbox. */
export function providerFor(env: Env, channel: Channel): Provider {
  switch (channel) {
    case "email":
      return env.RESEND_API_KEY && env.EMAIL_FROM ? resendEmail : sandbox;
    case "telegram":
      return env.TELEGRAM_BOT_TOKEN ? telegram : sandbox;
    case "whatsapp":
      return env.WHATSAPP_ACCESS_TOKEN && env.WHATSAPP_PHONE_NUMBER_ID ? whatsappCloud : sandbox;
  }
}
