"""Pure booking rules: slot arithmetic, capacity, tiers, pricing, state machines (stdlib only)."""
