"""Tests of riskstrat.synth."""
