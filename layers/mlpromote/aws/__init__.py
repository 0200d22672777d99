"""Small adapters in front of the AWS APIs the control plane calls."""
