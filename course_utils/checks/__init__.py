"""Self-checks of the exercises: one module per notebook (`checks.nb03.exercise_1(segnet)` and so on).

Each check reads the student's own objects, prints what is right, what is not yet and a hint, and returns True
when every item passes. It never reads the solutions and never prints the answer.
"""


def report(title, items):
    """Print one line per item (passed, what it checks, hint when not yet); True when all passed (every check)."""
    print(f"Self-check: {title}")
    for passed, what, hint in items:
        print(f"  {'OK     ' if passed else 'NOT YET'}  {what}" + ("" if passed else f"\n           hint: {hint}"))
    done = all(passed for passed, _, _ in items)
    print("  all done" if done else "  not yet: see the hints above")
    return done
