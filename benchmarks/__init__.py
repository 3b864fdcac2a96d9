"""Load benchmarks that run the console on its real stack (PostgreSQL, Redis, Celery, daphne).

Each scenario is a module run with `python -m benchmarks.<name>`: progress goes to stderr and
the last line on stdout is one JSON object with the result.
"""
