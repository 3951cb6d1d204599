import type { Env } from "../../env";
import { forbidden } from "../../lib/errors";

export interface MerchantRow {
  id: number;
  business_name: string;
  is_active: number;
}

export const notAMerchant = () => forbidden("Only merchants with an active business profile can do this.");

/**
 * The caller's merchant profile, looked up by user id: the JWT's role can lag behind a merchant
 * profile created after the token was issued, so the row, not the role claim, decides.
 */
export async function requireActiveMerchant(env: Pick<Env, "DB">, userId: number): Promise<MerchantRow> {
  const row = await env.DB.prepare("SELECT id, business_name, is_active FROM merchants WHERE user_id = ?").bind(userId).first<MerchantRow>();
  if (!row || !row.is_active) throw notAMerchant();
  return row;
}
