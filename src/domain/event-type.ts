/** Event types as publishers send them and subscriptions filter on them: noun.verb style, e.g. contact.create. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
