"""Input data contracts: loading, validation, quarantine and ICD-10 condition groups."""

from riskstrat.data._checked import load_checked
from riskstrat.data._checks import CHECK_NAMES, RowCheck, row_checks
from riskstrat.data._conditions import (
    Condition,
    Conditions,
    add_conditions,
    conditions_case_sql,
    load_conditions,
    normalise_icd10,
)
from riskstrat.data._contract_config import ContractConfig, ScoreRange, load_contract_config
from riskstrat.data._coverage import last_covered_day, latest_occurrences
from riskstrat.data._load import load_tables, read_tables
from riskstrat.data._normalise import normalise_table
from riskstrat.data._report import report_table, write_failure_json, write_report_json
from riskstrat.data._results import DataContractError, LoadResult, TableReport, ValidationReport
from riskstrat.data._schemas import table_schema
from riskstrat.data._validate import validate_tables, write_parquet_atomic
from riskstrat.data._whole_tables import refuse_rejected_whole

__all__ = [
    "CHECK_NAMES",
    "Condition",
    "Conditions",
    "ContractConfig",
    "DataContractError",
    "LoadResult",
    "RowCheck",
    "ScoreRange",
    "TableReport",
    "ValidationReport",
    "add_conditions",
    "last_covered_day",
    "latest_occurrences",
    "conditions_case_sql",
    "load_checked",
    "load_conditions",
    "load_contract_config",
    "load_tables",
    "normalise_icd10",
    "normalise_table",
    "read_tables",
    "refuse_rejected_whole",
    "report_table",
    "row_checks",
    "table_schema",
    "validate_tables",
    "write_failure_json",
    "write_parquet_atomic",
    "write_report_json",
]
