"""Functions the isolated child imports by name (tests/ goes on the child's PYTHONPATH)."""

import os
import time


def echo(x):
    return x


def sleep_then_echo(args):
    seconds, value = args
    time.sleep(seconds)
    return value


def die(code):
    os._exit(code)


def fail(message):
    raise ValueError(message)
