// Queue consumers and cron jobs of each feature register themselves when imported here.
import "./notifications/notifications.background";
import "./offers/background";
import "./advertisements/advertisements.cron";
import "./voucher-purchase/expire-purchases";
