#!/usr/bin/env bash
# Install the built bundle for the current user (nothing outside ~/.local is touched):
#   ~/.local/opt/LatentStudio/           the bundle (replaced if there)
#   ~/.local/bin/LatentStudio            a link to start it from a terminal
#   ~/.local/share/applications/         the menu entry
#   ~/.local/share/icons/hicolor/256x256/apps/latentstudio.png
# Remove: delete those four. Images, models and settings live in your own folders and stay.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$here/dist/LatentStudio"
[ -x "$bundle/LatentStudio" ] || { echo "Build it first: make package" >&2; exit 1; }
local="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$HOME/.local/opt" "$HOME/.local/bin" "$local/applications" \
         "$local/icons/hicolor/256x256/apps"
rm -rf "$HOME/.local/opt/LatentStudio.new"
cp -a "$bundle" "$HOME/.local/opt/LatentStudio.new"
rm -rf "$HOME/.local/opt/LatentStudio"
mv "$HOME/.local/opt/LatentStudio.new" "$HOME/.local/opt/LatentStudio"
ln -sf "$HOME/.local/opt/LatentStudio/LatentStudio" "$HOME/.local/bin/LatentStudio"
cp "$here/resources/icon.png" "$local/icons/hicolor/256x256/apps/latentstudio.png"
sed "s|^Exec=LatentStudio|Exec=$HOME/.local/opt/LatentStudio/LatentStudio|" \
    "$here/packaging/latentstudio.desktop" > "$local/applications/latentstudio.desktop"
echo "Installed: Latent Studio is in your applications menu (and ~/.local/bin/LatentStudio)."
