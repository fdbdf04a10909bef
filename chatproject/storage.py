"""Cloudinary media storage (django-cloudinary-storage) that gives up instead of hanging.

The cloudinary SDK's HTTP calls have no timeout unless one is passed per call, so a
Cloudinary that accepts the connection and never answers would hold a request worker
forever. Uploads here pass `CLOUDINARY_UPLOAD_TIMEOUT`; `chatproject.images.image_store`
turns the SDK's error into a 503. Everything else (names are Cloudinary public ids, URLs
come from the SDK's delivery settings) is the package's own behaviour.

Imported only when Cloudinary is configured (`STORAGES["default"]`): importing
`cloudinary_storage` requires credentials.
"""

import os
from typing import Any

import cloudinary.uploader
from cloudinary_storage.storage import MediaCloudinaryStorage
from django.conf import settings


class CloudinaryMediaStorage(MediaCloudinaryStorage):
    def _upload(self, name: str, content: Any) -> dict[str, Any]:
        # Same options as MediaCloudinaryStorage._upload, plus the timeout.
        options: dict[str, Any] = {
            "use_filename": True,
            "resource_type": self._get_resource_type(name),
            "tags": self.TAG,
            "timeout": settings.CLOUDINARY_UPLOAD_TIMEOUT,
        }
        folder = os.path.dirname(name)
        if folder:
            options["folder"] = folder
        return cloudinary.uploader.upload(content, **options)
