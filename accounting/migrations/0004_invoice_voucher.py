from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0003_vatcode_numeric_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="voucher_no",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="bilagsnr."),
        ),
        migrations.AddField(
            model_name="invoice",
            name="voucher_date",
            field=models.DateField(blank=True, null=True, verbose_name="bilagsdato"),
        ),
    ]
