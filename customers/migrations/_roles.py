"""Helpers for the role migrations (historical models only)."""


def create_missing_permissions(apps):
    # Permissions are made after migrations run; a data migration must create them itself.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, roles: dict[str, list[str]]) -> None:
    create_missing_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codes in roles.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, roles: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codes in roles.items():
        group = Group.objects.filter(name=group_name).first()
        for code in codes if group else ():
            app_label, codename = code.split(".")
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )


def granting(roles: dict[str, list[str]]):
    """The migration operation that grants `roles` (and takes them back when reversed)."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: grant(apps, roles),
        lambda apps, schema_editor: revoke(apps, roles),
    )


def revoking(roles: dict[str, list[str]]):
    """The migration operation that takes `roles` back (and grants them when reversed)."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: revoke(apps, roles),
        lambda apps, schema_editor: grant(apps, roles),
    )
