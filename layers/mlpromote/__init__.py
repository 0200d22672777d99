"""mlpromote: promote trained model versions across the accounts of an AWS Organization."""
