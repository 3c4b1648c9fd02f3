"""Names the subgroup table gives rows that are not one group's own value."""

ALL = "all"  # the whole test quarter
NOT_RECORDED = "not recorded"  # people whose attribute is missing
POOLED = "pooled: "  # prefix of the groups under 11 people merged into one
REFERENCE = "reference_group"  # observed rows: 1 for the group ratios at k are to, else 0
# The data contract's codes for a value not known (sex U, race/ethnicity Unknown) and the
# table's own: such groups are shown, but no group is compared with them.
UNKNOWN = frozenset({NOT_RECORDED, "U", "Unknown"})
# Scorers of people chosen outright, not as the k highest of the whole quarter: those each
# programme's rule lists (its eligible), and the model's places among them.
PROGRAMME_RULE = "programme_rule"  # metrics.csv: the rule's own places, min(k, eligible)
PROGRAMME_ELIGIBLE = "programme_eligible"
MODEL_WITHIN_ELIGIBLE = "model_within_eligible"
PLACE_SCORERS = frozenset({PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE})
