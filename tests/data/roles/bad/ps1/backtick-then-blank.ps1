# expect: a backtick followed by blanks
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Get-Service -Name vmms ` 
    -ErrorAction SilentlyContinue
