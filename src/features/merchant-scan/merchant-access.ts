import { forbidden } from "../../lib/errors";

export const notAMerchant = () => forbidden("Only merchants with an active business profile can do this.");
