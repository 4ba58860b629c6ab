"""Reading photo files: formats, pixels (bounded, oriented, cropped), EXIF dates and GPS."""
