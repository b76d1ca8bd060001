"""Where the faces are in a pair's photos, and how a reviewer sees them side by side.

`geometry`: the face box and eye centres of each photo, as stored with the pair (source named).
`alignment`: the maths and the crop that put both faces at the same size, eyes level.
"""
