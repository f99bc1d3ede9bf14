# expect: here-string @" is never closed
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$t = @"
body
    "@
Write-Output $t
