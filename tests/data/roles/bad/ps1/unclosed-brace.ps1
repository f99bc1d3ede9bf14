# expect: '{' is never closed
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
if ($NL.Domain) {
    Write-Output "x"

