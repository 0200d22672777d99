"""The promotion's phases: one module per phase of statemachines/promote_model.asl.json, one function
per Task state. The Lambda handlers (functions/*/app.py) parse the event and call one of them.

Imports run one way: handlers, then phases, then the domain (plan, results, serving, leases, ...),
then the AWS adapters (mlpromote.aws). A phase never imports another phase: what two phases share
lives in the domain. tests/test_import_graph.py keeps it so.
"""
