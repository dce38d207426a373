import { z } from "zod";

/**
 * Where the JSON API's resources live, for the links its answers carry: paths, like the Location
 * headers, so they hold behind any proxy that keeps hookd's paths.
 */

export const deliveryPath = (id: string) => `/api/v1/deliveries/${id}`;
export const eventPath = (id: string) => `/api/v1/events/${id}`;
export const subscriptionPath = (id: string) => `/api/v1/subscriptions/${id}`;

export const DeliveryLinksSchema = z.object({
  self: z.string(),
  body: z.string().describe("the body the delivery sends, raw, with its content type"),
  event: z.string().nullable().describe("for fan-out: the published event it delivers"),
  subscription: z.string().nullable().describe("for fan-out: the subscription it was made for"),
  report_of: z.string().nullable().describe("for a report: the delivery (or subscription) it reports on"),
  reports: z.array(z.string()).describe("the report deliveries made for this one's callback and errback"),
});

type LinkedDelivery = {
  id: string;
  event_id: string | null;
  subscription_id: string | null;
  reports: string[];
  report_of: { delivery_id: string | null; subscription_id: string | null } | null;
};

export function deliveryLinks(delivery: LinkedDelivery): z.infer<typeof DeliveryLinksSchema> {
  const of = delivery.report_of;
  return {
    self: deliveryPath(delivery.id),
    body: `${deliveryPath(delivery.id)}/body`,
    event: delivery.event_id === null ? null : eventPath(delivery.event_id),
    subscription: delivery.subscription_id === null ? null : subscriptionPath(delivery.subscription_id),
    report_of: of?.delivery_id
      ? deliveryPath(of.delivery_id)
      : of?.subscription_id
      ? subscriptionPath(of.subscription_id)
      : null,
    reports: delivery.reports.map(deliveryPath),
  };
}

export const SelfLinkSchema = z.object({ self: z.string() });
