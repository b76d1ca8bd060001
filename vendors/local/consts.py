"""Engine settings, each measured in LOCAL-ENGINE.md (section cited next to it)."""

from __future__ import annotations

from typing import Final

#: Detection runs on an image whose longer side is at most this (§2, §5): as accurate as full
#: resolution on portraits (§4) and 0.3 s instead of up to 5.8 s, 279 MB instead of 876 MB peak.
MAX_SIDE: Final = 1024

#: Refused before decoding: a 5000x5000 image already costs 1.36 GB at full size (§5), and §9.2
#: says to refuse above about 50-90 Mpx. 40 Mpx matches the intake cap (KYC_MAX_IMAGE_PIXELS), so
#: anything the client API accepted is analysed, and a 12-48 Mpx phone photo still fits.
MAX_PIXELS: Final = 40_000_000

#: HOG with no upsampling first (0.14 s per image), one upsample only when nothing was found
#: (0.30 s): upsample 0 misses faces under about 80 px, such as the tiny 100x100 image (§6, §9.3).
UPSAMPLE_FIRST: Final = 0
UPSAMPLE_RETRY: Final = 1

#: dlib's own operating point: "same person" at distance <= 0.6, i.e. score >= 60 (§7).
DLIB_THRESHOLD: Final = 0.6

#: Files inside the face_recognition_models package (§1): only the 5-point predictor and the
#: ResNet embedder; the 68-point model's training data restricts commercial use (§1).
SHAPE_PREDICTOR_FILE: Final = "models/shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL_FILE: Final = "models/dlib_face_recognition_resnet_model_v1.dat"

#: Descriptor jitters: dlib's default (none), as measured in §2-§4.
NUM_JITTERS: Final = 0

#: Below this (the shorter side of the face box, in pixels of the detection image) the adapter
#: answers FACE_TOO_SMALL. The tiny 100x100 image's face is 44 px and is only found with
#: upsampling (§6); every real photo in shared/faces has a face well above 80 px at 1024 px,
#: which is also where HOG stops finding faces without upsampling (§6). 60 px sits between the
#: two: a face that small still embeds (distance 0.22 to its source, §6) but too unreliably to
#: pass a KYC check, so asking for a new photo is cheaper than a doubtful score.
MIN_FACE_PX: Final = 60
