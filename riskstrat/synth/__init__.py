"""Synthetic linked county with the true risks that generated it (oracle) and a planted bias.

``synthesize`` draws people, a latent monthly risk state and every event table of the data
contract from it; ``SyntheticCounty.truth`` holds, per person and quarter start, the true
12-month probability of each outcome in docs/architecture.md given the latent path over the
window; ``as_of_truth`` gives the point-in-time (as-of) oracle of a written county and
``hidden_state`` the state it conditions on (persistent levels and the last episode).
"""

from riskstrat.synth._asof import as_of_truth, county_identity
from riskstrat.synth._county import STAGES, SyntheticCounty, synthesize, write_county
from riskstrat.synth._model import BiasConfig
from riskstrat.synth._state import STATE_COLUMNS, hidden_state
from riskstrat.synth._truth import OUTCOMES

__all__ = [
    "OUTCOMES",
    "STAGES",
    "STATE_COLUMNS",
    "BiasConfig",
    "SyntheticCounty",
    "as_of_truth",
    "county_identity",
    "hidden_state",
    "synthesize",
    "write_county",
]
