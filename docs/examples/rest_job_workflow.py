"""What a user's workflow registers: a JobsTask, serialized by flytekit into the platform's TaskTemplate."""

from collections import OrderedDict

from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.models.task import TaskTemplate
from flytekit.tools.translator import get_serializable

from rest_job_connector import JobsTask

double = JobsTask(name="example.double", image="ghcr.io/example/double:1")


def registered_template() -> TaskTemplate:
    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    return get_serializable(OrderedDict(), settings, double).template
