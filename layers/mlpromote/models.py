"""The one base of every model the domain reads or writes as JSON.

Fields are snake_case in Python and camelCase on the wire (the config file, the plan, the state
machine's state, the --json report, the DynamoDB items); input is accepted under either name.
Subclasses add what they need (extra, frozen, str_strip_whitespace): pydantic merges a subclass's
model_config into this one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    # defer_build: a function that never validates a model pays nothing for its schema at import.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
