"""Decoding GIF / MP4 / WebM into RGB frames, exactly and within caps.

    from gifqa.media import load_video
    video = load_video("clip.gif", max_frames=8, size=224)   # uniform by time
    video.frames        # uint8 [8, 224, 224, 3]
    video.timestamps_ms # start time of each frame in the clip

Decoders were chosen on measurements (report.md, "Decoders"): GIF through our structure
check + Pillow, video containers through PyAV.  Every failure is a
:class:`gifqa.errors.MediaError` naming the file and the problem.
"""

from gifqa.errors import MediaError, MediaLimitError, TruncatedMediaError
from gifqa.media.limits import DEFAULT_LIMITS, MediaLimits
from gifqa.media.load import load_video, probe, read_source
from gifqa.media.sampling import SAMPLING_STRATEGIES, browser_duration_ms, select_indices, uniform_by_time
from gifqa.media.sniff import SUPPORTED_FORMATS, sniff_format
from gifqa.media.types import MediaInfo, Video

__all__ = [
    "DEFAULT_LIMITS",
    "MediaError",
    "MediaInfo",
    "MediaLimitError",
    "MediaLimits",
    "SAMPLING_STRATEGIES",
    "SUPPORTED_FORMATS",
    "TruncatedMediaError",
    "Video",
    "browser_duration_ms",
    "load_video",
    "probe",
    "read_source",
    "select_indices",
    "sniff_format",
    "uniform_by_time",
]
