"""The offline runtime of mlpromote: moto plus what moto lacks. Product code never imports it."""
