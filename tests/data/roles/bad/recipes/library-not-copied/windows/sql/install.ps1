# Uses the helper library before it is copied in.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1
Write-Output (Find-NestlabMedia -Files setup.exe)
