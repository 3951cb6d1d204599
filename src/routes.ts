import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "./env";
import { adminRouter } from "./features/admin/admin.routes";
import { authRouter } from "./features/auth/auth.routes";
import { accountRouter } from "./features/account/account.routes";
import { activationRouter } from "./features/activation/activation.routes";
import { offersRouter } from "./features/offers/offers.routes";
import { partnerRouter } from "./features/partner/partner.routes";
import { advertisementsRouter } from "./features/advertisements/advertisements.routes";
import { giftCardClaimRouter, giftCardShareRouter } from "./features/gift-cards/gift-cards.routes";
import { merchantScanRouter } from "./features/merchant-scan/merchant-scan.routes";
import { settingsRouter } from "./features/settings/settings.routes";
import { whatsappContactsRouter } from "./features/whatsapp-contacts/whatsapp-contacts.routes";
import { customersRouter } from "./features/customers/customers.routes";
import { notificationsRouter } from "./features/notifications/notifications.routes";
import { optOutRouter } from "./features/notifications/opt-out.routes";
import { ordersRouter } from "./features/orders/orders.routes";
import { categoriesRouter } from "./features/categories/categories.routes";
import { merchantsAdminRouter, merchantsRouter } from "./features/merchants/merchants.routes";
import { publicVouchersRouter } from "./features/public-vouchers/public-vouchers.routes";
import { userVouchersRouter } from "./features/user-vouchers/user-vouchers.routes";
import { voucherPurchaseRouter } from "./features/voucher-purchase/voucher-purchase.routes";
import { mediaRouter } from "./features/media/media.routes";
import { vouchersRouter } from "./features/vouchers/vouchers.routes";
import { eventsRouter } from "./features/events/events.routes";
import { healthRouter, legacyHealthRouter } from "./features/health/health.routes";

/** Where each feature's router is mounted. Add a line here when a feature lands. */
export const routes: { path: string; router: OpenAPIHono<AppBindings> }[] = [
  { path: "/api/v1/health", router: healthRouter },
  { path: "/health", router: legacyHealthRouter },
  { path: "/api/v1/auth", router: authRouter },
  { path: "/api/v1/admin", router: adminRouter },
  { path: "/api/v1/admin/settings", router: settingsRouter },
  { path: "/api/v1/vouchers", router: giftCardShareRouter },
  { path: "/api/v1/gift-card-claim", router: giftCardClaimRouter },
  { path: "/api/v1/whatsapp-contacts", router: whatsappContactsRouter },
  { path: "/api/v1/merchant/scan", router: merchantScanRouter },
  { path: "/api/v1/advertisements", router: advertisementsRouter },
  { path: "/api/v1/offers", router: offersRouter },
  { path: "/api/v1/activation", router: activationRouter },
  { path: "/api/v1/account", router: accountRouter },
  { path: "/api/v1/partner", router: partnerRouter },
  { path: "/api/v1/customers", router: customersRouter },
  { path: "/api/v1/orders", router: ordersRouter },
  { path: "/api/v1/notifications", router: notificationsRouter },
  { path: "/api/v1/opt-out", router: optOutRouter },
  { path: "/api/v1/merchants", router: merchantsRouter },
  { path: "/api/v1/admin/merchants", router: merchantsAdminRouter },
  { path: "/api/v1/categories", router: categoriesRouter },
  { path: "/api/v1/vouchers", router: vouchersRouter },
  { path: "/api/v1/media", router: mediaRouter },
  { path: "/api/v1/public-vouchers", router: publicVouchersRouter },
  { path: "/api/v1/voucher-purchase", router: voucherPurchaseRouter },
  { path: "/api/v1/user-vouchers", router: userVouchersRouter },
  { path: "/api/v1/events", router: eventsRouter },
];
