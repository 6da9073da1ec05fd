"""The vocabulary every route shares: cases, programs, the backend protocol and its
registry, results and statuses, comparison, tolerances, expectations, timing.
"""
