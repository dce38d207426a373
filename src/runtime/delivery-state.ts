import { z } from "zod";
import { DELIVERY_STATES, type DeliveryState } from "../../actors/delivery.machine.ts";

/** A delivery state as a filter or a query parameter names it, refused with the list of those there are. */
export const DeliveryStateSchema = z.enum(DELIVERY_STATES as [DeliveryState, ...DeliveryState[]], {
  error: `state must be one of ${DELIVERY_STATES.join(", ")}`,
});
