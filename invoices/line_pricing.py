"""A month in a line-item mode (rate card, cost plus) from its pure forms: a draft's plan, or
the snapshot an issued invoice kept of the plan that priced it. Pure: no database."""

from . import pricing
from .cost_plus import price_cost_plus
from .rate_cards import price_rate_card

RATE_CARD = "rate_card"  # PricePlan.Mode.RATE_CARD; any other line-item mode is cost plus


def price_line_items(mode, pure, card, rule, allowances, line_usage, costs, rate, month):
    """A month in a line-item mode from its pure forms (a draft's plan, or the snapshot an
    issued invoice kept): its lines, notes, what blocks them and the exchange rate used."""
    if mode == RATE_CARD:
        priced = price_rate_card(pure, card, line_usage, month, allowances)
        blockers = []
        if priced.unpriced:
            shown = "; ".join(str(u) for u in priced.unpriced[:5])
            more = f" and {len(priced.unpriced) - 5} more" if len(priced.unpriced) > 5 else ""
            blockers.append(
                f"{len(priced.unpriced)} usage rows are priced by no rate card entry: "
                f"{shown}{more}. Add an entry that prices them, then refresh the draft."
            )
        return priced.lines, priced.notes, blockers, None
    if rate is None:
        blocker = (
            f"No exchange rate for {pure.currency} on or before the month's last day: add one "
            "under Exchange rates (or import the ECB's file), then refresh the draft."
        )
        lines, notes = pricing.with_minimum_and_fee(pure, [], [blocker], month)
        return lines, notes, [blocker], None
    lines, notes = price_cost_plus(pure, rule, costs, rate.per_usd, month, allowances)
    if rate.day is not None:
        notes.append(f"Exchange rate: {rate}.")
    return lines, notes, [], rate
