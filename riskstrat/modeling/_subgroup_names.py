"""Names the subgroup table gives rows that are not one group's own value."""

ALL = "all"  # the whole test quarter
NOT_RECORDED = "not recorded"  # people whose attribute is missing
POOLED = "pooled: "  # prefix of the groups under 11 people merged into one
REFERENCE = "reference_group"  # observed rows: 1 for the group ratios at k are to, else 0
# The data contract's codes for a value not known (sex U, race/ethnicity Unknown) and the
# table's own: such groups are shown, but no group is compared with them.
UNKNOWN = frozenset({NOT_RECORDED, "U", "Unknown"})
# Scorers of places chosen outright, not as the k highest of the whole quarter: each
# programme's own rule (its eligible people), and the model ranking only those.
PROGRAMME_RULE = "programme_rule"
MODEL_WITHIN_ELIGIBLE = "model_within_eligible"
PLACE_SCORERS = frozenset({PROGRAMME_RULE, MODEL_WITHIN_ELIGIBLE})
