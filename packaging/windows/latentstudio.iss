; Inno Setup script for the Windows bundle (not yet built or run here: no Windows machine).
; Build the bundle on Windows first (pyinstaller packaging\latentstudio.spec), then:
;   iscc packaging\windows\latentstudio.iss
; It installs dist\LatentStudio per user (no administrator rights), adds a Start menu
; entry and, if asked, a desktop icon. Uninstalling removes the program folder only:
; images, models and settings live in the user's own folders and stay.

#define AppName "Latent Studio"
#define AppVersion "0.1.0"

[Setup]
AppId={{6B1E8C2A-4F0D-4E0B-9C61-5A7C1D2E3F40}
AppName={#AppName}
AppVersion={#AppVersion}
DefaultDirName={localappdata}\Programs\LatentStudio
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=LatentStudio-{#AppVersion}-setup
SetupIconFile=..\..\resources\icon.ico
UninstallDisplayIcon={app}\LatentStudio.exe
Compression=lzma2/ultra64
SolidCompression=yes
DiskSpanning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Files]
Source: "..\..\dist\LatentStudio\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\LatentStudio.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\LatentStudio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\LatentStudio.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent
