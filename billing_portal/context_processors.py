from django.conf import settings


def deepgram_mode(request):
    """Tell templates whether the portal talks to the bundled sandbox (for the SANDBOX badge)."""
    return {"deepgram_sandbox": settings.DEEPGRAM_SANDBOX}
