"""Resources, regions and charging: the spec catalogue, accounts with an append-only
ledger, pay-as-you-go freezes and settlement, prepaid resource groups, cost estimates."""
