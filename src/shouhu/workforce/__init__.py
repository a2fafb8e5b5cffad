"""The sales and service workforce: service pods, KPI scorecards and incentive plans."""
