"""Names the subgroup table gives rows that are not one group's own value."""

ALL = "all"  # the whole test quarter
NOT_RECORDED = "not recorded"  # people whose attribute is missing
POOLED = "pooled: "  # prefix of the groups under 11 people merged into one
REFERENCE = "reference_group"  # observed rows: 1 for the group ratios at k are to, else 0
