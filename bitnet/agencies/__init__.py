"""Administrasjon > Byrå: offices, subgroups and their invoice and customer number series,
including the allocation of the next number under a row lock."""
