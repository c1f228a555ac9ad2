"""Small FFmpeg jobs (the binary comes inside the imageio-ffmpeg wheel), run without blocking."""
from __future__ import annotations

import asyncio
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


async def render_clip(dest: Path, size: str, seconds: int, first_frame: Path | None = None) -> None:
    """A real, playable H.264 MP4 of `size`: a slow pan over `first_frame`, or a moving gradient."""
    width, height = (int(n) for n in size.split('x'))
    if first_frame is None:
        source = ['-f', 'lavfi', '-i', f'gradients=size={size}:rate=12:duration={seconds}:speed=0.02']
        video_filter = 'format=yuv420p'
    else:
        source = ['-loop', '1', '-framerate', '12', '-t', str(seconds), '-i', str(first_frame)]
        w, h = width * 11 // 10 // 2 * 2, height * 11 // 10 // 2 * 2
        video_filter = f"scale={w}:{h},crop={width}:{height}:x='(in_w-out_w)*t/{seconds}':y='(in_h-out_h)/2',format=yuv420p"
    await _ffmpeg(*source, '-vf', video_filter, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30',
                  '-movflags', '+faststart', '-f', 'mp4', str(dest))


async def thumbnail(video: Path, dest: Path) -> None:
    """The first frame of a video as a JPEG."""
    await _ffmpeg('-i', str(video), '-frames:v', '1', '-q:v', '4', '-f', 'image2', str(dest))


async def _ffmpeg(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        FFMPEG, '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f'ffmpeg failed: {stderr.decode(errors="replace")[-500:]}')
