"""Deliberately broken connectors: each breaks exactly one clause, named in its docstring.

Most subclass the reference connector and change one behaviour, so every other clause still passes.
"""
