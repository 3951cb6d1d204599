/**
 * The design's money and single-use invariants, checked against D1 itself (the truth), each as a
 * function returning the violations it finds. The stress suite runs them after every random run;
 * invariants-catch.test.ts proves each one reports a deliberately broken row.
 */

export interface Violation {
  invariant: string;
  subject: string;
  detail: string;
}

type Row = Record<string, number | string | null>;

async function rows(db: D1Database, sql: string): Promise<Row[]> {
  return (await db.prepare(sql).all<Row>()).results;
}

/** Invariant 1: every wallet's balance is the sum of its ledger entries (wallet-less ledgers too). */
export async function checkConservation(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT u.user_id, w.balance, COALESCE(l.total, 0) AS ledger_sum
       FROM (SELECT user_id FROM wallets UNION SELECT user_id FROM ledger_entries) u
       LEFT JOIN wallets w ON w.user_id = u.user_id
       LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM ledger_entries GROUP BY user_id) l ON l.user_id = u.user_id
      WHERE w.balance IS NULL OR w.balance != COALESCE(l.total, 0)`,
  );
  return found.map((r) => ({
    invariant: "conservation",
    subject: `wallet ${r.user_id}`,
    detail: `balance ${r.balance ?? "missing"} != ledger sum ${r.ledger_sum}`,
  }));
}

/** Invariant 2: no balance below zero, now or at any point the ledger recorded. */
export async function checkNoNegativeBalance(db: D1Database): Promise<Violation[]> {
  const wallets = await rows(db, "SELECT user_id, balance FROM wallets WHERE balance < 0");
  const entries = await rows(db, "SELECT id, user_id, balance_after FROM ledger_entries WHERE balance_after < 0");
  return [
    ...wallets.map((r) => ({ invariant: "no-negative-balance", subject: `wallet ${r.user_id}`, detail: `balance ${r.balance}` })),
    ...entries.map((r) => ({
      invariant: "no-negative-balance",
      subject: `ledger entry ${r.id}`,
      detail: `wallet ${r.user_id} went to ${r.balance_after}`,
    })),
  ];
}

/**
 * Invariant 4 and 9 (stock): purchases plus claimed gift-card copies still standing never exceed
 * count, counted from the rows themselves; sold_count equals the standing paid purchases and
 * claimed_count the standing claimed copies (cancel and refund give a unit back).
 */
export async function checkStock(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT v.id, v.count, v.sold_count, v.claimed_count, COALESCE(p.live, 0) AS live, COALESCE(p.copies, 0) AS copies
       FROM vouchers v
       LEFT JOIN (SELECT voucher_id,
                         SUM(CASE WHEN is_gift_voucher = 0 THEN 1 ELSE 0 END) AS live,
                         SUM(CASE WHEN is_gift_voucher = 1 THEN 1 ELSE 0 END) AS copies
                    FROM voucher_redemptions WHERE purchase_status NOT IN ('cancelled', 'refunded')
                   GROUP BY voucher_id) p ON p.voucher_id = v.id
      WHERE v.sold_count < 0 OR v.claimed_count < 0
         OR (v.count IS NOT NULL AND (v.sold_count + v.claimed_count > v.count OR COALESCE(p.live, 0) + COALESCE(p.copies, 0) > v.count))
         OR v.sold_count != COALESCE(p.live, 0) OR v.claimed_count != COALESCE(p.copies, 0)`,
  );
  return found.map((r) => {
    const issued = Math.max(Number(r.sold_count) + Number(r.claimed_count), Number(r.live) + Number(r.copies));
    const oversold = r.count !== null && issued > Number(r.count);
    return {
      invariant: oversold ? "stock-not-oversold" : "stock-matches-purchases",
      subject: `voucher ${r.id}`,
      detail: `sold_count ${r.sold_count}, claimed_count ${r.claimed_count}, count ${r.count ?? "unlimited"}, standing purchases ${r.live}, standing claimed copies ${r.copies}`,
    };
  });
}

/** Invariant 9 (shares): no purchase is shared to more people than the cap it was sold with. */
export async function checkShareCap(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT r.id, r.max_shares, COUNT(s.id) AS shares
       FROM voucher_redemptions r JOIN gift_card_shares s ON s.source_redemption_id = r.id
      GROUP BY r.id HAVING COUNT(s.id) > r.max_shares`,
  );
  return found.map((r) => ({ invariant: "shares-within-cap", subject: `purchase ${r.id}`, detail: `${r.shares} shares for a cap of ${r.max_shares}` }));
}

/** Invariant 4 (redemptions): 0 <= remaining <= total, and the events account for every unit used. */
export async function checkRedemptions(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT r.id, r.total_redemptions, r.remaining_redemptions, COALESCE(e.used, 0) AS used
       FROM voucher_redemptions r
       LEFT JOIN (SELECT redemption_id, SUM(quantity) AS used FROM redemption_events GROUP BY redemption_id) e ON e.redemption_id = r.id
      WHERE r.remaining_redemptions < 0 OR r.remaining_redemptions > r.total_redemptions
         OR COALESCE(e.used, 0) != r.total_redemptions - r.remaining_redemptions`,
  );
  return found.map((r) => ({
    invariant: "redemption-within-quantity",
    subject: `redemption ${r.id}`,
    detail: `total ${r.total_redemptions}, remaining ${r.remaining_redemptions}, redeemed by events ${r.used}`,
  }));
}

/**
 * Invariant 5 (activations): one debit per activation; a FAILED one has exactly one refund ledger
 * entry, of exactly its price; any other status has none.
 */
export async function checkActivationRefunds(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT t.id, t.status, t.amount,
            COALESCE(SUM(CASE WHEN l.kind = 'refund' THEN 1 ELSE 0 END), 0) AS refunds,
            COALESCE(SUM(CASE WHEN l.kind = 'refund' THEN l.amount ELSE 0 END), 0) AS refunded,
            COALESCE(SUM(CASE WHEN l.amount < 0 THEN 1 ELSE 0 END), 0) AS debits,
            COALESCE(SUM(CASE WHEN l.amount < 0 THEN -l.amount ELSE 0 END), 0) AS debited
       FROM transactions t LEFT JOIN ledger_entries l ON l.transaction_id = t.id
      WHERE t.type = 'ACTIVATION'
      GROUP BY t.id`,
  );
  const violations: Violation[] = [];
  for (const r of found) {
    const subject = `activation ${r.id} (${r.status})`;
    if (r.debits !== 1 || r.debited !== r.amount)
      violations.push({ invariant: "activation-debited-once", subject, detail: `${r.debits} debits totalling ${r.debited} for a price of ${r.amount}` });
    const expected = r.status === "FAILED" ? 1 : 0;
    if (r.refunds !== expected || (expected === 1 && r.refunded !== r.amount))
      violations.push({
        invariant: "failed-activation-refunded-once",
        subject,
        detail: `${r.refunds} refund entries totalling ${r.refunded}; expected ${expected}${expected ? ` of ${r.amount}` : ""}`,
      });
  }
  return violations;
}

/**
 * Invariant 5 (vouchers): a purchase is refunded at most what was paid for it, and only a purchase
 * in status `refunded` got money back. Refund entries are found through the purchase's transaction
 * or its purchase reference, whichever the voucher feature links them by.
 */
export async function checkVoucherRefunds(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT r.id, r.purchase_status, r.purchase_cost, COUNT(l.id) AS refunds, COALESCE(SUM(l.amount), 0) AS refunded
       FROM voucher_redemptions r
       JOIN ledger_entries l ON l.user_id = r.user_id AND l.amount > 0 AND l.kind = 'refund'
        AND ((r.transaction_id IS NOT NULL AND l.transaction_id = r.transaction_id)
             OR l.transaction_id IN (SELECT id FROM transactions WHERE type = 'VOUCHER_REFUND' AND reference = r.purchase_reference))
      GROUP BY r.id`,
  );
  const violations: Violation[] = [];
  for (const r of found) {
    const subject = `purchase ${r.id} (${r.purchase_status})`;
    if (Number(r.refunded) > Number(r.purchase_cost) || r.refunds !== 1)
      violations.push({ invariant: "refund-within-paid", subject, detail: `${r.refunds} refunds totalling ${r.refunded} for a cost of ${r.purchase_cost}` });
    else if (r.purchase_status !== "refunded")
      violations.push({ invariant: "refund-within-paid", subject, detail: `refunded ${r.refunded} but the purchase is ${r.purchase_status}` });
  }
  return violations;
}

/** Invariant 4 (claims): a share is claimed by one person, into exactly one gift redemption. */
export async function checkGiftClaims(db: D1Database): Promise<Violation[]> {
  const found = await rows(
    db,
    `SELECT s.id, s.is_claimed, COUNT(r.id) AS redemptions
       FROM gift_card_shares s LEFT JOIN voucher_redemptions r ON r.gift_share_id = s.id
      GROUP BY s.id
     HAVING (s.is_claimed = 1 AND COUNT(r.id) != 1) OR (s.is_claimed = 0 AND COUNT(r.id) != 0)`,
  );
  return found.map((r) => ({
    invariant: "gift-claimed-once",
    subject: `share ${r.id}`,
    detail: `is_claimed ${r.is_claimed} with ${r.redemptions} gift redemptions`,
  }));
}

export const ALL_CHECKS = {
  conservation: checkConservation,
  noNegativeBalance: checkNoNegativeBalance,
  stock: checkStock,
  redemptions: checkRedemptions,
  activationRefunds: checkActivationRefunds,
  voucherRefunds: checkVoucherRefunds,
  giftClaims: checkGiftClaims,
  shareCap: checkShareCap,
};

/** Every check, in one list; empty means the database is consistent. */
export async function checkInvariants(db: D1Database): Promise<Violation[]> {
  const results = await Promise.all(Object.values(ALL_CHECKS).map((check) => check(db)));
  return results.flat();
}
