"""What dbt gives a model's Jinja at compile time and sqlfluff's jinja templater does not (make lint).

Each module here is a name in the templater's context (`.sqlfluff`, `library_path`): stand-ins
that let every model render as SQL for the linter. They return what dbt returns on a first build
(no relation yet, no columns), which is the branch each macro's SQL must be valid for anyway.
"""
