-- The rows that follow from an activation are written by its subscription's own row, inside the
-- statement that inserts it: the wallet's batch carries two statements fewer (D1 answers each
-- statement of a batch separately; a trigger's writes are part of the statement that fired it).
-- Nothing else changes: the same rows, in the same batch, refused by the same constraints.

-- An activation's pending subscription records its PENDING transaction (the offer's price and
-- name at commit time, which the subscription's offer_id subquery holds equal to the ones
-- debited and answered) and the outbox row that stands for its queue message until the consumer
-- receives it. A partner's activation is inserted active and writes its own transaction.
CREATE TRIGGER subscriptions_pending_activation
AFTER INSERT ON subscriptions
WHEN NEW.status = 'pending'
BEGIN
  INSERT INTO transactions (id, user_id, type, status, amount, offer_id, description, created_at, updated_at)
  SELECT NEW.transaction_id, NEW.user_id, 'ACTIVATION', 'PENDING', o.price, o.id, 'Activation: ' || o.name, NEW.created_at, NEW.created_at
    FROM offers o WHERE o.id = NEW.offer_id;
  INSERT INTO activation_outbox (transaction_id, created_at) VALUES (NEW.transaction_id, NEW.created_at);
END;
