"""Images: registry-free base images and per-capsule environment images cached by content hash."""

from corebench_runner.images.base import BASE_IMAGES, BaseImage, ensure_base_images, toolbox_image
from corebench_runner.images.environment import environment_image, environment_tag

__all__ = ["BASE_IMAGES", "BaseImage", "ensure_base_images", "toolbox_image", "environment_image", "environment_tag"]
