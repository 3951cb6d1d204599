import { z } from "@hono/zod-openapi";
import { ORDER_STATUSES } from "../../db/schema";

const Amount = z.union([z.string(), z.number()]).openapi({ example: "149.99" });
const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, "must be a three-letter currency code, like INR")
  .transform((v) => v.toUpperCase())
  .openapi({ example: "INR" });
const Text = (max: number) => z.string().trim().max(max);
const Status = z.enum(ORDER_STATUSES).openapi({ example: "confirmed" });

export const OrderCreate = z
  .strictObject({
    order_number: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{1,50}$/, "may contain letters, digits, '-' and '_' (at most 50)")
      .optional()
      .openapi({ example: "ORD-001", description: "Generated (ORD-...) when absent" }),
    total_amount: Amount,
    currency: Currency.optional(),
    shipping_address: Text(500).optional().openapi({ example: "123 Main St, Mumbai, Maharashtra 400001" }),
    shipping_method: Text(50).optional().openapi({ example: "standard" }),
    notes: Text(1000).optional().openapi({ example: "Urgent delivery required" }),
    status: z
      .literal("pending", { error: "a new order always starts as pending; an admin changes the status later" })
      .optional()
      .openapi({ description: "Accepted only as \"pending\"" }),
  })
  .openapi("OrderCreate");
export type OrderCreate = z.infer<typeof OrderCreate>;

export const OrderUpdate = z
  .strictObject({
    status: Status.optional(),
    tracking_number: z.string().trim().min(1).max(64).optional().openapi({ example: "TRK123456789" }),
    notes: Text(1000).optional(),
    shipping_address: Text(500).optional(),
    shipping_method: Text(50).optional(),
  })
  .openapi("OrderUpdate");
export type OrderUpdate = z.infer<typeof OrderUpdate>;

export const OrderStatusUpdate = z.strictObject({ status: Status }).openapi("OrderStatusUpdate");

export const Order = z
  .object({
    id: z.number().int(),
    order_number: z.string(),
    customer: z.number().int(),
    customer_name: z.string(),
    customer_email: z.string().nullable(),
    status: Status,
    total_amount: z.string().openapi({ example: "149.99" }),
    currency: z.string(),
    shipping_address: z.string(),
    shipping_method: z.string(),
    tracking_number: z.string(),
    notes: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Order");

export const OrderListQuery = z.object({ status: Status.optional() });
export const OrderIdParam = z.object({ id: z.coerce.number().int().positive().openapi({ param: { name: "id", in: "path" } }) });
