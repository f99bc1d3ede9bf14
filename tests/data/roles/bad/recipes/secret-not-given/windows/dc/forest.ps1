# Reads the dsrm secret the step was not given.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$s = (Get-Content -Raw -LiteralPath 'C:\ProgramData\nestlab\secrets\dsrm')
$p = ConvertTo-SecureString -String $s -AsPlainText -Force
