"""The numbering of issued documents (re-exported by `models`): one counter a series and
year, locked while a number is taken (`services.numbering`)."""

from django.db import models


class InvoiceCounter(models.Model):
    """The last number used in a series and year; locked while a number is taken."""

    series = models.CharField(max_length=16)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="one_counter")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"
